using System.Buffers.Binary;
using System.IO.MemoryMappedFiles;
using System.Runtime.InteropServices;
using SoftPrompt.Tensors;
using SoftPrompt.Tensors.Weights;

namespace SoftPrompt.Models.Safetensors;

/// <summary>One tensor's entry in a safetensors header; offsets are relative to the data region.</summary>
public sealed record SafetensorsEntry(string Name, SafetensorsDtype Dtype, int[] Shape, long Begin, long End)
{
    public long ElementCount => Shape.Aggregate(1L, (a, b) => a * b);
}

/// <summary>
/// A memory-mapped safetensors file (8-byte little-endian header length, JSON header, raw data).
/// The header is validated when the file opens — length sane, JSON well formed, dtypes known,
/// element count × dtype size = byte length, offsets in bounds, not overlapping and covering the
/// data region — and every failure names the file and the tensor. Tensors are read on demand and
/// widened to float32 (from F32, F16 or BF16).
/// </summary>
public sealed unsafe class SafetensorsFile : IDisposable
{
    const long MaxHeaderBytes = 100L << 20;

    readonly MemoryMappedFile _map;
    readonly MemoryMappedViewAccessor _view;
    readonly byte* _base;
    readonly long _dataStart, _dataLength;
    readonly Dictionary<string, SafetensorsEntry> _entries;

    public string Path { get; }
    public IReadOnlyDictionary<string, string> Metadata { get; }
    public IReadOnlyDictionary<string, SafetensorsEntry> Entries => _entries;

    SafetensorsFile(string path, MemoryMappedFile map, MemoryMappedViewAccessor view, byte* basePtr, long dataStart, long dataLength,
        Dictionary<string, SafetensorsEntry> entries, Dictionary<string, string> metadata)
    {
        Path = path; _map = map; _view = view; _base = basePtr; _dataStart = dataStart; _dataLength = dataLength;
        _entries = entries; Metadata = metadata;
    }

    public static SafetensorsFile Open(string path)
    {
        var info = new FileInfo(path);
        if (!info.Exists) throw new SafetensorsException($"{path}: file not found.");
        long size = info.Length;
        if (size < 8) throw new SafetensorsException($"{path}: {size} bytes is too short for a safetensors file (needs an 8-byte header length).");
        var map = MemoryMappedFile.CreateFromFile(path, FileMode.Open, null, 0, MemoryMappedFileAccess.Read);
        var view = map.CreateViewAccessor(0, size, MemoryMappedFileAccess.Read);
        byte* p = null;
        try
        {
            view.SafeMemoryMappedViewHandle.AcquirePointer(ref p);
            p += view.PointerOffset;
            ulong headerLen = BinaryPrimitives.ReadUInt64LittleEndian(new ReadOnlySpan<byte>(p, 8));
            if (headerLen < 2 || headerLen > (ulong)MaxHeaderBytes || headerLen > (ulong)(size - 8))
                throw new SafetensorsException($"{path}: header length {headerLen} is not sane for a file of {size} bytes.");
            var (entries, metadata) = SafetensorsHeader.Parse(path, new ReadOnlySpan<byte>(p + 8, (int)headerLen), size - 8 - (long)headerLen);
            return new SafetensorsFile(path, map, view, p, 8 + (long)headerLen, size - 8 - (long)headerLen, entries, metadata);
        }
        catch
        {
            if (p != null) view.SafeMemoryMappedViewHandle.ReleasePointer();
            view.Dispose(); map.Dispose();
            throw;
        }
    }

    public SafetensorsEntry Entry(string name) =>
        _entries.TryGetValue(name, out var e) ? e : throw new SafetensorsException($"{Path}: no tensor named '{name}'.");

    /// <summary>The raw bytes of a tensor (valid while the file is open).</summary>
    public ReadOnlySpan<byte> Bytes(string name)
    {
        var e = Entry(name);
        long length = e.End - e.Begin;
        if (length > int.MaxValue) throw new SafetensorsException($"{Path}: tensor '{name}' spans {length} bytes, more than one span can address (2 GiB).");
        return new ReadOnlySpan<byte>(_base + _dataStart + e.Begin, (int)length);
    }

    /// <summary>Copies a floating-point tensor into <paramref name="dst"/> as float32.</summary>
    public void ReadFloat32(string name, Span<float> dst)
    {
        var e = Entry(name);
        if (dst.Length != e.ElementCount)
            throw new SafetensorsException($"{Path}: tensor '{name}' has {e.ElementCount} elements, destination holds {dst.Length}.");
        var src = Bytes(name);
        switch (e.Dtype)
        {
            case SafetensorsDtype.F32: MemoryMarshal.Cast<byte, float>(src).CopyTo(dst); break;
            case SafetensorsDtype.F16: System.Numerics.Tensors.TensorPrimitives.ConvertToSingle(MemoryMarshal.Cast<byte, Half>(src), dst); break;
            case SafetensorsDtype.BF16:
                var bf = MemoryMarshal.Cast<byte, ushort>(src);
                var bits = MemoryMarshal.Cast<float, uint>(dst);
                for (int i = 0; i < bf.Length; i++) bits[i] = (uint)bf[i] << 16;   // bf16 is the top half of an fp32
                break;
            default: throw new SafetensorsException($"{Path}: tensor '{name}' is {e.Dtype}, not a floating-point type (F32, F16, BF16).");
        }
    }

    /// <summary>Loads a floating-point tensor as a new float32 tensor (heap storage).</summary>
    public Tensor LoadTensor(string name)
    {
        var e = Entry(name);
        // A Tensor's every leading product of dimensions must fit an int ([2³¹−1, 2, 0] holds no element but cannot be made).
        long prefix = 1;
        foreach (int s in e.Shape)
            if ((prefix *= s) > int.MaxValue)
                throw new SafetensorsException($"{Path}: tensor '{name}' of shape {Tensor.Format(e.Shape)} is too large for a tensor (more than 2³¹−1 elements).");
        var t = Tensor.ZerosOnHeap(e.Shape);
        ReadFloat32(name, t.Span);
        t.Name = name;
        return t;
    }

    /// <summary>
    /// Loads a floating-point [rows, cols] tensor as a frozen weight held as <paramref name="storage"/>
    /// says: as stored (16-bit bits copied, not widened), widened to float32, or F32 narrowed to bf16.
    /// </summary>
    public FrozenWeight LoadFrozen(string name, WeightStorage storage = WeightStorage.AsStored)
    {
        var e = Entry(name);
        if (e.Shape.Length != 2)
            throw new SafetensorsException($"{Path}: tensor '{name}' has shape {Tensor.Format(e.Shape)}; a frozen weight is a matrix [rows, cols].");
        int rows = e.Shape[0], cols = e.Shape[1];
        var src = Bytes(name);
        switch (e.Dtype)
        {
            case SafetensorsDtype.F32:
                return FrozenWeight.FromFloats(MemoryMarshal.Cast<byte, float>(src), rows, cols,
                    storage == WeightStorage.BFloat16 ? WeightDtype.BF16 : WeightDtype.F32, name);
            case SafetensorsDtype.BF16 or SafetensorsDtype.F16:
                if (storage == WeightStorage.Float32) return FrozenWeight.FromTensor(LoadTensor(name));
                return FrozenWeight.FromBits(e.Dtype == SafetensorsDtype.BF16 ? WeightDtype.BF16 : WeightDtype.F16,
                    MemoryMarshal.Cast<byte, ushort>(src), rows, cols, name);
            default: throw new SafetensorsException($"{Path}: tensor '{name}' is {e.Dtype}, not a floating-point type (F32, F16, BF16).");
        }
    }

    public void Dispose()
    {
        _view.SafeMemoryMappedViewHandle.ReleasePointer();
        _view.Dispose();
        _map.Dispose();
    }
}
