module github.com/firebreak/firebreak/services/escalation

go 1.26.0

require github.com/firebreak/firebreak/proto v0.0.0

require (
	cel.dev/cel-go v0.33.2 // indirect
	go.yaml.in/yaml/v3 v3.0.6 // indirect
	google.golang.org/protobuf v1.36.12 // indirect
	pgregory.net/rapid v1.3.0 // indirect
)

replace github.com/firebreak/firebreak/proto => ../../proto
