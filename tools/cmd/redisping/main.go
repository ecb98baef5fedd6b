// Command redisping checks that Redis answers at the URL given, and says how
// to get one if it does not; make's targets that need Redis call it first.
package main

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/firebreak/firebreak/services/platform/store"
)

func main() {
	url := "redis://127.0.0.1:6379/0"
	if len(os.Args) > 1 && os.Args[1] != "" {
		url = os.Args[1]
	}
	if !strings.Contains(url, "://") {
		url = "redis://" + url
	}
	client, err := store.Open(context.Background(), store.Options{URL: url})
	if err != nil {
		fmt.Fprintf(os.Stderr, "%v\n(on Debian: apt-get install redis-server && redis-server --daemonize yes)\n", err)
		os.Exit(1)
	}
	_ = client.Close()
}
