//go:build tools

// Package kube exists only so that `go mod tidy` records every module kube-apiserver and kubectl need.
package kube

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kubectl"
)
