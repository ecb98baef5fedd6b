module github.com/firebreak/firebreak/services/platform

go 1.26.0
