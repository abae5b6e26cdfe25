// Command rptrctl manages rptr's PTR records in Redis: it validates and
// writes records, lists, imports and exports them, lints the keyspace and
// runs forward-confirmed reverse DNS checks against any DNS server. It
// reads and writes the same keys and values as the plugin, through
// ptrstore.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
