// Command ingest runs the ingest service.
package main

import (
	"context"
	"os"

	"github.com/firebreak/firebreak/services/ingest"
	"github.com/firebreak/firebreak/services/platform/deps"
	"github.com/firebreak/firebreak/services/platform/lifecycle"
)

func main() {
	var cfg ingest.Config
	os.Exit(lifecycle.Main("ingest", &cfg, func(ctx context.Context, d *deps.Deps) (lifecycle.Server, error) { return ingest.New(ctx, cfg, d) }))
}
