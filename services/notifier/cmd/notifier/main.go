// Command notifier runs the notifier service.
package main

import (
	"context"
	"os"

	"github.com/firebreak/firebreak/services/notifier"
	"github.com/firebreak/firebreak/services/platform/deps"
	"github.com/firebreak/firebreak/services/platform/lifecycle"
)

func main() {
	var cfg notifier.Config
	os.Exit(lifecycle.Main("notifier", &cfg, func(ctx context.Context, d *deps.Deps) (lifecycle.Server, error) { return notifier.New(ctx, cfg, d) }))
}
