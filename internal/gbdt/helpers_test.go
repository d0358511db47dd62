package gbdt

import (
	"encoding/binary"
	"hash/crc32"
)

func appendCRC(b []byte) []byte {
	return binary.LittleEndian.AppendUint32(append([]byte(nil), b...), crc32.ChecksumIEEE(b))
}
