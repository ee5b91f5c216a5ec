using System.Runtime.InteropServices;

namespace SoftPrompt.Tensors.Kernels;

public static partial class Sgemm
{
    /// <summary>
    /// A growable 64-byte-aligned native float buffer. Each thread keeps its own (see
    /// <see cref="ThreadScratch"/>), so after warm-up no call allocates; the finalizer frees the
    /// memory when the owning thread ends.
    /// </summary>
    sealed unsafe class AlignedBuffer
    {
        float* _ptr;
        nint _capacity; // floats

        /// <summary>At least <paramref name="floats"/> floats; the old contents are not kept.</summary>
        public float* Get(nint floats)
        {
            if (floats > _capacity)
            {
                // Grow by at least 1.5× so a slowly growing size does not reallocate every call.
                nint size = Math.Max(floats, _capacity + _capacity / 2);
                if (_ptr != null) NativeMemory.AlignedFree(_ptr);
                _ptr = null;
                _capacity = 0;
                _ptr = (float*)NativeMemory.AlignedAlloc((nuint)size * sizeof(float), 64);
                _capacity = size;
            }
            return _ptr;
        }

        ~AlignedBuffer()
        {
            if (_ptr != null) NativeMemory.AlignedFree(_ptr);
        }
    }

    /// <summary>
    /// The pack buffers of the current thread. <see cref="A"/> holds the thread's MC×KC block of A
    /// (plus room for one edge tile of C); <see cref="B"/> holds the KC×NC panel of B that the
    /// calling thread packs and, in a parallel call, every pool thread reads.
    /// </summary>
    static class ThreadScratch
    {
        [ThreadStatic] static AlignedBuffer? t_a;
        [ThreadStatic] static AlignedBuffer? t_b;

        public static AlignedBuffer A => t_a ??= new AlignedBuffer();
        public static AlignedBuffer B => t_b ??= new AlignedBuffer();
    }
}
