// Command reach runs the reach service.
package main

import (
	"context"
	"os"

	"github.com/firebreak/firebreak/services/platform/deps"
	"github.com/firebreak/firebreak/services/platform/lifecycle"
	"github.com/firebreak/firebreak/services/reach"
)

func main() {
	var cfg reach.Config
	os.Exit(lifecycle.Main("reach", &cfg, func(ctx context.Context, d *deps.Deps) (lifecycle.Server, error) { return reach.New(ctx, cfg, d) }))
}
