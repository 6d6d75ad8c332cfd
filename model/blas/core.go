package blas

import (
	"strings"

	"golang.org/x/sys/cpu"
)

// Features are the x86 instruction sets that decide which OpenBLAS kernels
// a CPU can run. Each is true only when the OS also saves the registers it
// uses (as golang.org/x/sys/cpu reports them).
type Features struct {
	AVX, AVX2, FMA                                  bool
	AVX512F, AVX512BW, AVX512DQ, AVX512VL, AVX512CD bool
	AVX512BF16                                      bool
}

// Detect reads the features of the CPU this process runs on (all false
// off x86).
func Detect() Features {
	x := &cpu.X86
	return Features{
		AVX: x.HasAVX, AVX2: x.HasAVX2, FMA: x.HasFMA,
		AVX512F: x.HasAVX512F, AVX512BW: x.HasAVX512BW, AVX512DQ: x.HasAVX512DQ,
		AVX512VL: x.HasAVX512VL, AVX512CD: x.HasAVX512CD, AVX512BF16: x.HasAVX512BF16,
	}
}

// String lists the features present, e.g. "AVX AVX2 FMA AVX512F …", or
// "no AVX".
func (f Features) String() string {
	var s []string
	for _, x := range []struct {
		ok   bool
		name string
	}{
		{f.AVX, "AVX"}, {f.AVX2, "AVX2"}, {f.FMA, "FMA"},
		{f.AVX512F, "AVX512F"}, {f.AVX512BW, "AVX512BW"}, {f.AVX512DQ, "AVX512DQ"},
		{f.AVX512VL, "AVX512VL"}, {f.AVX512CD, "AVX512CD"}, {f.AVX512BF16, "AVX512BF16"},
	} {
		if x.ok {
			s = append(s, x.name)
		}
	}
	if len(s) == 0 {
		return "no AVX"
	}
	return strings.Join(s, " ")
}

// level ranks kernels (and CPUs) by the widest instruction set they use.
type level int

const (
	levelSSE level = iota // generic and SSE-era cores
	levelAVX
	levelAVX2
	levelAVX512
)

// coreLevels places OpenBLAS 0.3.21's x86_64 DYNAMIC_ARCH core names
// (driver/others/dynamic.c, lower-cased). A name not listed (e.g.
// "Unknown", "Prescott", "Core2", "Nehalem", "Atom", "Barcelona", "Bobcat",
// "Nano", or a name from a newer OpenBLAS) counts as SSE-level: generic.
var coreLevels = map[string]level{
	"sandybridge": levelAVX,
	"bulldozer":   levelAVX, // AVX + FMA4, no AVX2
	"piledriver":  levelAVX,
	"steamroller": levelAVX,

	"haswell":   levelAVX2,
	"zen":       levelAVX2,
	"excavator": levelAVX2,

	"skylakex":       levelAVX512,
	"cooperlake":     levelAVX512,
	"sapphirerapids": levelAVX512,
}

func coreLevel(core string) level { return coreLevels[strings.ToLower(core)] }

// cpuLevel is the widest kernel family the CPU runs safely: SkylakeX's
// kernels use AVX-512 F/BW/DQ/VL/CD (and AVX2/FMA), Haswell's AVX2 and
// FMA, Sandybridge's AVX.
func cpuLevel(f Features) level {
	switch {
	case f.AVX && f.AVX2 && f.FMA && f.AVX512F && f.AVX512BW && f.AVX512DQ && f.AVX512VL && f.AVX512CD:
		return levelAVX512
	case f.AVX && f.AVX2 && f.FMA:
		return levelAVX2
	case f.AVX:
		return levelAVX
	}
	return levelSSE
}

// safeCores is the core forced for each CPU level: one core per level, each
// accepted by OpenBLAS 0.3.21 as OPENBLAS_CORETYPE. SkylakeX rather than
// Cooperlake even with AVX512BF16: their sgemm kernels are the same
// (Cooperlake adds only bf16 sbgemm, which nothing here calls).
var safeCores = [...]string{levelSSE: "", levelAVX: "Sandybridge", levelAVX2: "Haswell", levelAVX512: "SkylakeX"}

// Safe is the best OpenBLAS core this CPU can run safely: "SkylakeX",
// "Haswell", "Sandybridge", or "" for a CPU without AVX.
func Safe(f Features) string { return safeCores[cpuLevel(f)] }

// Force decides which core to force with OPENBLAS_CORETYPE, given the CPU's
// features, the core OpenBLAS picked ([Core]) and whether the user set
// OPENBLAS_CORETYPE; "" means leave OpenBLAS's choice.
//
// The user's setting always wins. The pure-Go build ("gonum") has nothing
// to force. Otherwise, when the picked core's level (SSE < AVX < AVX2 <
// AVX-512; an unknown name is SSE) is below the CPU's, the answer is
// [Safe]: e.g. an AVX-512 CPU on "Prescott", or an AVX-512 AMD Zen 4/5 on
// "Zen" or "Haswell", gets "SkylakeX" (what later OpenBLAS releases pick
// for Zen 4 themselves; on the AMD EPYC this was written on, sgemm runs
// about 2× faster with SkylakeX's kernels than with Zen's or Haswell's).
// A core at or above the CPU's level is left alone, so a core OpenBLAS
// knows better (Cooperlake, SapphireRapids, Zen on an AVX2-only CPU) stays.
func Force(f Features, core string, userSet bool) string {
	if userSet || core == "" || strings.EqualFold(core, "gonum") {
		return ""
	}
	if coreLevel(core) >= cpuLevel(f) {
		return ""
	}
	return Safe(f)
}
