#!/bin/bash
# Run the PyTorch reference step (step_gpt2_prompt.py) in a named configuration.
#
#   run_reference.sh MODE [step_gpt2_prompt.py args...]
#   run_reference.sh MODE --script step_methods.py [its args...]
#                 (the same modes for another reference script in this folder)
#
#   default       PyTorch exactly as Debian installs it: glibc malloc, torch's
#                 own thread default (1 intra-op thread on this 2-vCPU box,
#                 because it counts physical cores), pthread OpenBLAS.
#   tuned         Same torch/BLAS binaries, tuned through Debian packages and
#                 environment only (see below). Falls back, with a note on
#                 stderr, when an optional package is missing.
#   tuned-native  tuned, plus OpenBLAS left to detect the CPU itself instead of
#                 the OPENBLAS_CORETYPE the environment may force (this machine
#                 exports OPENBLAS_CORETYPE=Haswell, i.e. AVX2 kernels on an
#                 AVX-512 CPU). Kept separate because it changes the matmul
#                 kernels, not just the runtime around them.
#
# Why tuned is faster (measured, see README-style notes in the report):
#   * The step frees and re-allocates ~1 GB of large tensors (logits are
#     1024 x 50257 floats = 206 MB). glibc serves blocks above its mmap
#     threshold with fresh mmap()s, so every step re-faults and zeroes those
#     pages (~200k minor faults/step). A caching allocator (tcmalloc/jemalloc)
#     or a raised glibc mmap/trim threshold keeps the pages mapped.
#   * torch defaults to 1 intra-op thread here, so log_softmax, its backward,
#     GELU, fills etc. run single-threaded while a core idles. Two threads help,
#     but only if the BLAS does not spin on the same cores: with the pthread
#     OpenBLAS plus 2 busy-waiting OpenMP threads the step gets *slower*. The
#     OpenMP build of OpenBLAS shares torch's OpenMP pool instead.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
py=/usr/bin/python3            # Debian python3-torch; the pyenv python has no torch
script=$here/step_gpt2_prompt.py
libdir=/usr/lib/x86_64-linux-gnu

note() { echo "run_reference.sh: $*" >&2; }

mode=${1:-}
if [ $# -gt 0 ]; then shift; fi
if [ "${1:-}" = --script ] && [ $# -ge 2 ]; then
    case $2 in */*|'') echo "run_reference.sh: --script takes a file name in $here" >&2; exit 2 ;; esac
    script=$here/$2
    shift 2
fi

# Knobs the tuned modes set; cleared for every mode so an inherited shell
# setting cannot silently turn "default" into something else.
unset OMP_NUM_THREADS OMP_WAIT_POLICY MALLOC_ARENA_MAX MALLOC_MMAP_THRESHOLD_ \
      MALLOC_TOP_PAD_ MALLOC_TRIM_THRESHOLD_ MALLOC_CONF TCMALLOC_RELEASE_RATE

case $mode in
default)
    exec "$py" "$script" "$@"
    ;;
tuned|tuned-native)
    ;;
*)
    echo "usage: $0 default|tuned|tuned-native [step_gpt2_prompt.py args...]" >&2
    exit 2
    ;;
esac

settings=()

# --- allocator: keep freed large blocks mapped between steps -----------------
if [ -e "$libdir/libtcmalloc_minimal.so.4" ]; then
    # Lowest RSS of the options tried, and no page faults after the first step.
    export LD_PRELOAD="$libdir/libtcmalloc_minimal.so.4${LD_PRELOAD:+:$LD_PRELOAD}"
    # tcmalloc warns on stderr about single allocations >= 1 GiB; bigger
    # configs are expected, not a leak.
    export TCMALLOC_LARGE_ALLOC_REPORT_THRESHOLD=${TCMALLOC_LARGE_ALLOC_REPORT_THRESHOLD:-1099511627776}
    settings+=("LD_PRELOAD=libtcmalloc_minimal.so.4")
elif [ -e "$libdir/libjemalloc.so.2" ]; then
    note "libtcmalloc-minimal4 not installed; using jemalloc (apt-get install libtcmalloc-minimal4 for the measured config)"
    export LD_PRELOAD="$libdir/libjemalloc.so.2${LD_PRELOAD:+:$LD_PRELOAD}"
    # jemalloc's default decay hands dirty pages back within ~10 s and makes
    # this workload slower than glibc; never purging matches tcmalloc.
    export MALLOC_CONF="dirty_decay_ms:-1,muzzy_decay_ms:-1"
    settings+=("LD_PRELOAD=libjemalloc.so.2" "MALLOC_CONF=$MALLOC_CONF")
else
    note "neither libtcmalloc-minimal4 nor libjemalloc2 installed; falling back to glibc malloc tunables (heap needs ~4 steps to stop growing, so use --warmup 4 or more)"
    # Serve big tensors from the brk heap instead of fresh mmaps, and never
    # give the heap top back to the kernel.
    export MALLOC_MMAP_THRESHOLD_=4294967296
    export MALLOC_TRIM_THRESHOLD_=17179869184
    export MALLOC_TOP_PAD_=1073741824
    settings+=("MALLOC_MMAP_THRESHOLD_=$MALLOC_MMAP_THRESHOLD_"
               "MALLOC_TRIM_THRESHOLD_=$MALLOC_TRIM_THRESHOLD_"
               "MALLOC_TOP_PAD_=$MALLOC_TOP_PAD_")
fi

# --- threads: use every core for elementwise work too -------------------------
export OMP_NUM_THREADS=$(nproc)
settings+=("OMP_NUM_THREADS=$OMP_NUM_THREADS")
if [ -e "$libdir/openblas-openmp/libblas.so.3" ]; then
    # torch links libblas.so.3/libopenblas.so.0 by soname; this directory holds
    # the OpenMP build of the same OpenBLAS release, so BLAS and torch share
    # one OpenMP thread pool instead of two pools fighting over 2 cores. The
    # system-wide BLAS alternative is left untouched.
    export LD_LIBRARY_PATH="$libdir/openblas-openmp${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
    settings+=("LD_LIBRARY_PATH=$libdir/openblas-openmp")
else
    note "libopenblas0-openmp not installed; keeping pthread OpenBLAS with passive OpenMP waiting (slightly slower; apt-get install libopenblas0-openmp for the measured config)"
    # Busy-waiting OpenMP workers would steal the cores OpenBLAS's own
    # pthreads need; passive waiting avoids the contention.
    export OMP_WAIT_POLICY=PASSIVE
    settings+=("OMP_WAIT_POLICY=PASSIVE")
fi

if [ "$mode" = tuned-native ]; then
    unset OPENBLAS_CORETYPE
    settings+=("OPENBLAS_CORETYPE unset (CPU autodetect)")
fi

note "$mode: ${settings[*]}"
exec "$py" "$script" "$@"
