// Command coredns is CoreDNS with the rptr plugin built in.
package main

import (
	"github.com/coredns/coredns/coremain"

	_ "github.com/rptr-dns/rptr/plugin"
)

func main() { coremain.Run() }
