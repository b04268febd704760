# SPDX-License-Identifier: LGPL-2.1-or-later
# Short complete programs that show the API; built in CI and run in the VM.
$(eval $(call program,examples/edu-dma,examples/edu-dma.c,))
EXAMPLES += $(O)/examples/edu-dma
VM_TESTS += $(O)/examples/edu-dma

# File reads, DMA set-up and the device's MSIs on one io_uring (libiommufd-async).
$(eval $(call async_program,examples/edu-pipeline,examples/edu-pipeline.c,))
EXAMPLES += $(O)/examples/edu-pipeline
VM_TESTS += $(O)/examples/edu-pipeline
