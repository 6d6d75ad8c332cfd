// Package vmath holds the float32 elementary functions of the training
// graph's hot loops (softmax, GELU): scalar versions and, on amd64 with
// AVX2 + FMA, eight-lane assembly with the same algorithm. It is its own
// package because model/graph uses cgo, and a cgo package cannot hold Go
// assembly.
package vmath
