// Command natsperms prints the NATS permissions of Firebreak's services,
// from the one table in services/platform/bus: by default the NATS server
// authorization block the Helm chart carries, or with --format=json the
// table itself.
//
//	go run ./tools/cmd/natsperms > charts/firebreak/files/nats-authorization.conf
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"

	"github.com/firebreak/firebreak/services/platform/broker"
	"github.com/firebreak/firebreak/services/platform/bus"
)

func main() {
	prefix := flag.String("subject-prefix", "firebreak", "subject prefix of the installation")
	partitions := flag.Int("mention-partitions", 1, "streams the mentions are split over, as the services' --mention-partitions (the chart's file is for 1; the chart repeats it for mentionPartitions)")
	format := flag.String("format", "conf", "conf (NATS server authorization block) or json (the table)")
	flag.Parse()
	names := bus.Names{Prefix: *prefix, Partitions: *partitions}
	switch *format {
	case "conf":
		fmt.Print(broker.AuthorizationConfig(names))
	case "json":
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(names.PermissionTable()); err != nil {
			fmt.Fprintf(os.Stderr, "natsperms: %v\n", err)
			os.Exit(1)
		}
	default:
		fmt.Fprintf(os.Stderr, "natsperms: --format must be conf or json, not %q\n", *format)
		os.Exit(2)
	}
}
