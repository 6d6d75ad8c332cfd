package blas

import "testing"

var (
	noAVX  = Features{}
	avx    = Features{AVX: true}
	avx2   = Features{AVX: true, AVX2: true, FMA: true}
	skx    = Features{AVX: true, AVX2: true, FMA: true, AVX512F: true, AVX512BW: true, AVX512DQ: true, AVX512VL: true, AVX512CD: true}
	bf16   = Features{AVX: true, AVX2: true, FMA: true, AVX512F: true, AVX512BW: true, AVX512DQ: true, AVX512VL: true, AVX512CD: true, AVX512BF16: true}
	knl    = Features{AVX: true, AVX2: true, FMA: true, AVX512F: true, AVX512CD: true} // Knights Landing: no BW/DQ/VL
	avx2NF = Features{AVX: true, AVX2: true}                                           // AVX2 without FMA: no Haswell kernels
)

func TestForce(t *testing.T) {
	for _, c := range []struct {
		name    string
		f       Features
		core    string
		userSet bool
		want    string
	}{
		{"Emerald Rapids on Prescott", bf16, "Prescott", false, "SkylakeX"},
		{"Skylake-SP on Prescott", skx, "Prescott", false, "SkylakeX"},
		{"Emerald Rapids, user set", bf16, "Prescott", true, ""},
		{"AMD Zen 4/5 on Zen", bf16, "Zen", false, "SkylakeX"},
		{"AMD Zen 4/5 on Haswell", bf16, "Haswell", false, "SkylakeX"},
		{"AMD Zen 4/5, user set Haswell", bf16, "Haswell", true, ""},
		{"AVX-512 CPU on Cooperlake", bf16, "Cooperlake", false, ""},
		{"AVX-512 CPU on SapphireRapids", bf16, "SapphireRapids", false, ""},
		{"AVX-512 CPU on SkylakeX", skx, "SkylakeX", false, ""},
		{"AVX2 CPU on Prescott", avx2, "Prescott", false, "Haswell"},
		{"AVX2 CPU on Nehalem", avx2, "Nehalem", false, "Haswell"},
		{"AVX2 CPU on Sandybridge", avx2, "Sandybridge", false, "Haswell"},
		{"AVX2 CPU on Zen", avx2, "Zen", false, ""},
		{"AVX2 CPU on Excavator", avx2, "Excavator", false, ""},
		{"AVX2 CPU on Haswell", avx2, "Haswell", false, ""},
		{"AVX2 CPU on SkylakeX (above the CPU)", avx2, "SkylakeX", false, ""},
		{"Knights Landing on Prescott", knl, "Prescott", false, "Haswell"},
		{"AVX2 without FMA on Core2", avx2NF, "Core2", false, "Sandybridge"},
		{"AVX CPU on Prescott", avx, "Prescott", false, "Sandybridge"},
		{"AVX CPU on Bulldozer", avx, "Bulldozer", false, ""},
		{"SSE CPU on Prescott", noAVX, "Prescott", false, ""},
		{"SSE CPU on Unknown", noAVX, "Unknown", false, ""},
		{"unknown core name is generic", avx2, "Graniterapids", false, "Haswell"},
		{"lower-case core name", avx2, "haswell", false, ""},
		{"gonum build", bf16, "gonum", false, ""},
		{"no core", bf16, "", false, ""},
		{"arm64 (no x86 features)", noAVX, "NEOVERSEN1", false, ""},
	} {
		if got := Force(c.f, c.core, c.userSet); got != c.want {
			t.Errorf("%s: Force(%v, %q, %v) = %q, want %q", c.name, c.f, c.core, c.userSet, got, c.want)
		}
	}
}

func TestSafeCoresAreKnown(t *testing.T) {
	// Every core Force can return must rank at its own level, or a re-run
	// would not stop at it.
	for _, f := range []Features{avx, avx2, skx, bf16} {
		s := Safe(f)
		if s == "" || coreLevel(s) != cpuLevel(f) || Force(f, s, false) != "" {
			t.Errorf("Safe(%v) = %q (level %d, CPU level %d)", f, s, coreLevel(s), cpuLevel(f))
		}
	}
	if s := Safe(noAVX); s != "" {
		t.Errorf("Safe(no AVX) = %q", s)
	}
}

func TestFeaturesString(t *testing.T) {
	if s := noAVX.String(); s != "no AVX" {
		t.Errorf("%q", s)
	}
	if s := bf16.String(); s != "AVX AVX2 FMA AVX512F AVX512BW AVX512DQ AVX512VL AVX512CD AVX512BF16" {
		t.Errorf("%q", s)
	}
	t.Logf("this CPU: %s; OpenBLAS core %s; safe core %q", Detect(), Core(), Safe(Detect()))
	if (Core() == "gonum") == OpenBLAS {
		t.Errorf("OpenBLAS %v, Core %q", OpenBLAS, Core())
	}
}
