package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/firebreak/firebreak/services/platform/auth"
)

// runTokenNew makes an API key and prints it with the keys-file line that
// accepts it. The line holds only the key's digest, so the Secret behind
// --auth-keys-file never holds a usable key.
func runTokenNew(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("token new", stderr)
	name := fs.String("name", "", "who the key acts as on case timelines, e.g. ana or acme-bot")
	roles := fs.String("roles", "", "comma-separated roles: viewer, responder, admin, ingest, service")
	brands := fs.String("brands", "", "brands an ingest key may submit for (comma-separated; * for all)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *name == "" || *roles == "" {
		return fmt.Errorf("%w: give --name and --roles, e.g. token new --name ana --roles responder", errUsage)
	}
	var rs []auth.Role
	for _, r := range strings.Split(*roles, ",") {
		role, err := auth.ParseRole(r)
		if err != nil {
			return fmt.Errorf("%w: --roles: %v", errUsage, err)
		}
		rs = append(rs, role)
	}
	var bs []string
	if *brands != "" {
		bs = strings.Split(*brands, ",")
	}
	key, err := auth.NewKey()
	if err != nil {
		return err
	}
	line := auth.KeyLine(*name, key, rs, bs)
	// Check the line the way the services will, so a bad name or a missing
	// brand is reported now rather than at their next start.
	if _, err := auth.ParseKeys([]byte(line)); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	fmt.Fprintf(stdout, "# the key, for %s only (it is not stored anywhere; FIREBREAK_TOKEN or Authorization: Bearer):\n%s\n", *name, key)
	fmt.Fprintf(stdout, "# the line for the keys file (--auth-keys-file; the chart's auth.keys):\n%s\n", line)
	return nil
}
