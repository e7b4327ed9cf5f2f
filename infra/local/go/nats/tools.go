//go:build tools

// Package nats exists only so that `go mod tidy` records what nats-server needs.
package nats

import _ "github.com/nats-io/nats-server/v2"
