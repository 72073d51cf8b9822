// Package lzo writes and reads text+lzo: lzop files of LZO1X blocks that
// the lzop tool and Hadoop's LzopCodec read, with the .lzo.index sidecar
// that lets Hadoop split them at block starts. The codec is pure Go; the
// reader and decompressor turn corrupt input into errors, never panics, and
// allocate no more than a block's declared size (at most 64 MiB).
package lzo
