// Command reach runs the reach service.
package main

import (
	"os"

	"github.com/firebreak/firebreak/services/platform/deps"
	"github.com/firebreak/firebreak/services/platform/lifecycle"
	"github.com/firebreak/firebreak/services/reach"
)

func main() {
	var cfg reach.Config
	os.Exit(lifecycle.Main("reach", &cfg, func(d *deps.Deps) (lifecycle.Server, error) { return reach.New(cfg, d) }))
}
