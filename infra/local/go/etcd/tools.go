//go:build tools

// Package etcd exists only so that `go mod tidy` records what etcd's server needs.
package etcd

import _ "go.etcd.io/etcd/server/v3"
