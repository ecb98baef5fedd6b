// Command console runs the console service: the web pages of the queue,
// the cases, insights and the policy.
package main

import (
	"context"
	"os"

	"github.com/firebreak/firebreak/services/console"
	"github.com/firebreak/firebreak/services/platform/deps"
	"github.com/firebreak/firebreak/services/platform/lifecycle"
)

func main() {
	var cfg console.Config
	os.Exit(lifecycle.Main("console", &cfg, func(ctx context.Context, d *deps.Deps) (lifecycle.Server, error) { return console.New(ctx, cfg, d) }))
}
