// Command stub stands in for a service binary in imagebuild's tests: it
// answers --version the way every Firebreak service does.
package main

import (
	"fmt"
	"os"
)

var version = "dev"

func main() {
	if len(os.Args) > 1 && os.Args[1] == "--version" {
		fmt.Println("stub", version)
		return
	}
	fmt.Fprintln(os.Stderr, "stub: only --version is supported")
	os.Exit(2)
}
