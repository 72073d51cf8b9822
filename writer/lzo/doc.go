// Package lzo writes and reads text+lzo: lzop files of LZO1X-compressed
// blocks that Hadoop's LzopCodec and the lzop tool read, with the
// .lzo.index sidecar that lets Hadoop split them at block boundaries.
// The codec is pure Go; its decompressor is safe on hostile input.
package lzo
