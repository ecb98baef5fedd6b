module github.com/firebreak/firebreak/services/scorer

go 1.26.0
