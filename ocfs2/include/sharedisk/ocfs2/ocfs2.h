// Umbrella header of the sharedisk OCFS2 cluster topology library.
#pragma once

#include "sharedisk/ocfs2/block_reader.h"
#include "sharedisk/ocfs2/check.h"
#include "sharedisk/ocfs2/cluster_conf.h"
#include "sharedisk/ocfs2/conf_edit.h"
#include "sharedisk/ocfs2/configfs.h"
#include "sharedisk/ocfs2/diagnostic.h"
#include "sharedisk/ocfs2/failover_timing.h"
#include "sharedisk/ocfs2/iscsid_conf.h"
#include "sharedisk/ocfs2/multipath_conf.h"
#include "sharedisk/ocfs2/o2cb_defaults.h"
#include "sharedisk/ocfs2/superblock.h"
#include "sharedisk/ocfs2/validate.h"
#include "sharedisk/ocfs2/version.h"
