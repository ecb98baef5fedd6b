// Command scorer runs the scorer service.
package main

import (
	"context"
	"os"

	"github.com/firebreak/firebreak/services/platform/deps"
	"github.com/firebreak/firebreak/services/platform/lifecycle"
	"github.com/firebreak/firebreak/services/scorer"
)

func main() {
	var cfg scorer.Config
	os.Exit(lifecycle.Main("scorer", &cfg, func(ctx context.Context, d *deps.Deps) (lifecycle.Server, error) { return scorer.New(ctx, cfg, d) }))
}
