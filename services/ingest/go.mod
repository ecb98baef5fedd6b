module github.com/firebreak/firebreak/services/ingest

go 1.26.0
