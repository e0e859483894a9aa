// A bare-metal Cortex-M7 image around an exported network: a vector table and reset handler
// (startup.c), a linker script, and a main that runs every golden input through mam_infer,
// times each inference and each layer with SysTick, and prints the outputs bit for bit over
// semihosting. Built with Debian's arm-none-eabi-gcc and newlib (rdimon: semihosting I/O).
//
// The image is linked for QEMU's mps2-an500 (Cortex-M7): code and constants from 0x00000000,
// RAM from 0x20000000, 4 MB each. Whether it fits a real part is judged from the section sizes.

/** Instructions per SysTick tick under `qemu-system-arm -M mps2-an500 -icount shift=0`: each
 * instruction advances virtual time by 1 ns and SysTick counts the 25 MHz system clock. */
export const INSTRUCTIONS_PER_TICK = 40;
/** Stack reserved at the top of RAM (bytes), counted in the RAM the image needs. */
export const STACK_BYTES = 8192;

export const STARTUP_C = `/* Vector table and reset handler for a Cortex-M7 running from reset, no RTOS. */
#include <stdint.h>
extern uint32_t _estack, _sidata, _sdata, _edata, _sbss, _ebss;
extern int main(void);
extern void initialise_monitor_handles(void);
extern void exit(int);
void Reset_Handler(void);
void Default_Handler(void);
/* A fault ends the run through semihosting with a code the host reports (no silent hang). */
void Default_Handler(void) { exit(70); }
/* newlib's init and fini arrays call these; nothing to do here. */
void _init(void);
void _fini(void);
void _init(void) {}
void _fini(void) {}
__attribute__((section(".isr_vector"), used))
const void *const vectors[16] = {
  &_estack, (const void *)Reset_Handler, (const void *)Default_Handler, (const void *)Default_Handler,
  (const void *)Default_Handler, (const void *)Default_Handler, (const void *)Default_Handler, 0, 0, 0, 0,
  (const void *)Default_Handler, (const void *)Default_Handler, 0, (const void *)Default_Handler, (const void *)Default_Handler,
};
void Reset_Handler(void) {
  uint32_t *src = &_sidata, *dst = &_sdata;
  while (dst < &_edata) *dst++ = *src++;
  for (dst = &_sbss; dst < &_ebss;) *dst++ = 0;
  /* The FPU: full access to CP10 and CP11 (CPACR), before any float instruction. */
  *(volatile uint32_t *)0xE000ED88 |= (0xFu << 20);
  __asm volatile ("dsb\\n isb");
  initialise_monitor_handles();
  exit(main());
}
`;

export const LINK_LD = `/* mps2-an500 under QEMU: SSRAM1 (code, constants) at 0x0 and SSRAM2/3 (data) at 0x20000000,
 * 4 MB each. The regions are declared larger so that an image too big for them still links and
 * its sizes can be reported; mam mcu run refuses to run one. The stack starts at the top of the
 * board's 4 MB of RAM; newlib's heap grows from the end of .bss. */
MEMORY {
  FLASH (rx) : ORIGIN = 0x00000000, LENGTH = 64M
  RAM (rwx) : ORIGIN = 0x20000000, LENGTH = 64M
}
_estack = 0x20400000;
SECTIONS {
  .isr_vector : { KEEP(*(.isr_vector)) } > FLASH
  .text : { *(.text*) KEEP(*(.init)) KEEP(*(.fini)) } > FLASH
  .rodata : { *(.rodata*) . = ALIGN(4); } > FLASH
  .ARM.extab : { *(.ARM.extab*) } > FLASH
  .ARM.exidx : { *(.ARM.exidx*) } > FLASH
  .preinit_array : { KEEP(*(.preinit_array*)) } > FLASH
  .init_array : { KEEP(*(SORT(.init_array.*))) KEEP(*(.init_array*)) } > FLASH
  .fini_array : { KEEP(*(SORT(.fini_array.*))) KEEP(*(.fini_array*)) } > FLASH
  . = ALIGN(4);
  _sidata = LOADADDR(.data);
  .data : { . = ALIGN(4); _sdata = .; *(.data*) . = ALIGN(4); _edata = .; } > RAM AT > FLASH
  .bss (NOLOAD) : { . = ALIGN(4); _sbss = .; __bss_start__ = .; *(.bss*) *(COMMON) . = ALIGN(4); _ebss = .; __bss_end__ = .; } > RAM
  end = .;
  _end = .;
}
`;

/** The emulated board's memory: an image larger than this cannot run on it. */
export const BOARD_BYTES = 4 * 1024 * 1024;

/** Declares the per-layer hook the export calls (passed to the compiler with -include). */
export const PROFILE_H = `void mam_profile_mark(int layer);
#define MAM_AFTER_LAYER(i) mam_profile_mark(i)
`;

/** main(): each golden input through mam_infer; SysTick ticks per inference and per layer; outputs as hex bits. */
export function mainC(layers: number): string {
  return `#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include "mam_model.h"
#ifdef MAM_HOST /* the same program on the build machine, for comparing outputs: no SysTick there */
static volatile uint32_t systick[3];
#define SYST_CSR systick[0]
#define SYST_RVR systick[1]
#define SYST_CVR systick[2]
#else
#define SYST_CSR (*(volatile uint32_t *)0xE000E010)
#define SYST_RVR (*(volatile uint32_t *)0xE000E014)
#define SYST_CVR (*(volatile uint32_t *)0xE000E018)
#endif
#define LAYERS ${layers}
static uint32_t marks[LAYERS];
static uint32_t start;
void mam_profile_mark(int layer) { marks[layer] = SYST_CVR; }
int main(void) {
  static float out[MAM_OUTPUT_SIZE];
  SYST_RVR = 0x00FFFFFFu;
  SYST_CVR = 0;
  SYST_CSR = 5u; /* processor clock, counting, no interrupt */
#ifndef MAM_HOST
  {
    /* Calibration: a loop of exactly 2 instructions per pass (subs, bne), 100000 passes. */
    uint32_t n = 100000u, t0 = SYST_CVR;
    __asm__ volatile ("1: subs %0, %0, #1\\n bne 1b" : "+r" (n) : : "cc");
    printf("calibration 200000 ticks %lu\\n", (unsigned long)((t0 - SYST_CVR) & 0xFFFFFFu));
  }
#endif
  for (int g = 0; g < MAM_GOLDEN_COUNT; g++) {
    (void)SYST_CSR; /* reading it clears COUNTFLAG */
    start = SYST_CVR;
    mam_infer(mam_golden_in[g], out);
    /* SysTick counts down (24 bits); COUNTFLAG set means it wrapped and the count is unknown. */
    if ((SYST_CSR >> 16) & 1u) printf("wrapped %d\\n", g);
    printf("golden %d ticks %lu layers", g, (unsigned long)((start - marks[LAYERS - 1]) & 0xFFFFFFu));
    uint32_t before = start;
    for (int i = 0; i < LAYERS; i++) {
      printf(" %lu", (unsigned long)((before - marks[i]) & 0xFFFFFFu));
      before = marks[i];
    }
    printf("\\nout %d", g);
    for (int k = 0; k < MAM_OUTPUT_SIZE; k++) {
      uint32_t bits;
      memcpy(&bits, &out[k], sizeof bits);
      printf(" %08lx", (unsigned long)bits);
    }
    printf("\\n");
  }
  printf("done\\n");
  return 0;
}
`;
}
