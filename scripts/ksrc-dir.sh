#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Print the path of the extracted linux-source-6.12 tree (extracting it once).
# VM tests use it for the selftest uAPI (drivers/iommu/iommufd/iommufd_test.h),
# which is not part of the installed headers.
set -euo pipefail
. "$(dirname "$0")/common.sh"
ksrc_dir
