// Command escalation runs the escalation service.
package main

import (
	"context"
	"os"

	"github.com/firebreak/firebreak/services/escalation"
	"github.com/firebreak/firebreak/services/platform/deps"
	"github.com/firebreak/firebreak/services/platform/lifecycle"
)

func main() {
	var cfg escalation.Config
	os.Exit(lifecycle.Main("escalation", &cfg, func(ctx context.Context, d *deps.Deps) (lifecycle.Server, error) { return escalation.New(ctx, cfg, d) }))
}
