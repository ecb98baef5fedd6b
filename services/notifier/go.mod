module github.com/firebreak/firebreak/services/notifier

go 1.26.0
