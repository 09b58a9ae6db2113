package main

import (
	"fmt"
	"io"
)

func init() {
	register("demo", "server and client in one process on loopback, printing the story", runDemo)
}

func runDemo(args []string, stdout, stderr io.Writer) int {
	fmt.Fprintf(stderr, "ritual demo: %v: the server and client that it runs have not landed\n", errNotImplemented)
	return 1
}
