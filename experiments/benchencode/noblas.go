//go:build !openblas

package main

func setBLASThreads(int) {}

func blasCore() string { return "none (pure-Go build)" }
