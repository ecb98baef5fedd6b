module github.com/firebreak/firebreak/services/reach

go 1.26.0
