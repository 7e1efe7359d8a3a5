#include "textflag.h"

// func int80(nr uintptr) uintptr
// Makes a 32-bit (i386 ABI) system call through int $0x80 from a 64-bit
// process: the compat path that a native-only seccomp filter must reject.
TEXT ·int80(SB),NOSPLIT,$0-16
	MOVQ nr+0(FP), AX
	XORQ BX, BX
	XORQ CX, CX
	XORQ DX, DX
	INT $0x80
	MOVQ AX, ret+8(FP)
	RET
