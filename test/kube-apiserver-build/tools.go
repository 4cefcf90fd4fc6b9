//go:build tools

// Package build pins the kube-apiserver command so `go mod tidy` keeps its dependencies.
package build

import _ "k8s.io/kubernetes/cmd/kube-apiserver"
