// Package nettest gives tests local network addresses.
package nettest

import (
	"net"
	"testing"
)

// FreeAddr returns a loopback TCP address (host:port) where nothing listens
// right now: one to start a server on, or to be refused by.
func FreeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}
