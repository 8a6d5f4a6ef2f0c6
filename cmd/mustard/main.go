// Command mustard is Mustard's one binary: the providers' server, the
// wallet, the ceremony and the benchmarks. `mustard demo` walks the whole
// story once.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/mustard-id/mustard/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
