module github.com/firebreak/firebreak/services/escalation

go 1.26.0
