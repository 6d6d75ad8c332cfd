//go:build !openblas

package main

import (
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
)

// sgemm is gonum's pure-Go BLAS: this build is not the benchmark's (build
// with -tags openblas), it only keeps the package compiling everywhere.
var sgemm blas.Float32Level3 = gonum.Implementation{}

const haveOpenBLAS = false

func setBLASThreads(int) {}

func blasThreads() int { return 0 }

func blasCore() string { return "none (pure-Go build)" }
