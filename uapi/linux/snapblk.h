/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * snapblk - snapshot and overlay block devices: the ioctl ABI.
 *
 * Userspace opens /dev/snapblk-ctl and issues the ioctls below. Every
 * structure has fixed-width members, explicit padding and reserved words
 * that must be zero; the kernel refuses unknown flags and non-zero
 * reserved words with -EINVAL, and unknown commands with -ENOTTY.
 * Block devices are passed as open file descriptors, never as paths.
 */
#ifndef _UAPI_LINUX_SNAPBLK_H
#define _UAPI_LINUX_SNAPBLK_H

#include <linux/ioctl.h>
#include <linux/types.h>

#define SNAPBLK_CTL_NAME	"snapblk-ctl"
#define SNAPBLK_CTL_PATH	"/dev/snapblk-ctl"
#define SNAPBLK_DISK_NAME	"snapblk"

/* ABI version: the major changes only on incompatible changes. */
#define SNAPBLK_ABI_MAJOR	1
#define SNAPBLK_ABI_MINOR	0

/* Length of a device NAME including its terminating NUL. */
#define SNAPBLK_NAME_LEN	32
/* Length of a kernel block device name ("loop0", "snapblk2p1"). */
#define SNAPBLK_DISK_LEN	32
/* Length of the module's version string. */
#define SNAPBLK_VERSION_LEN	32

/* Chunk sizes, in bytes. */
#define SNAPBLK_CHUNK_MIN	4096U
#define SNAPBLK_CHUNK_MAX	(1024U * 1024U)
#define SNAPBLK_CHUNK_DEFAULT	(64U * 1024U)

/* enum snapblk_kind: what a device is. */
#define SNAPBLK_KIND_OVERLAY	1	/* keep-original: writes go to a delta */
#define SNAPBLK_KIND_ORIGIN	2	/* wraps a disk that takes writes */
#define SNAPBLK_KIND_SNAPSHOT	3	/* point-in-time view of an origin */

/* enum snapblk_state: what a device is doing. */
#define SNAPBLK_STATE_ACTIVE		1
#define SNAPBLK_STATE_COMMITTING	2
#define SNAPBLK_STATE_REVERTING		3
#define SNAPBLK_STATE_INVALID		4
#define SNAPBLK_STATE_FULL		5
#define SNAPBLK_STATE_STOPPED		6	/* a commit or revert stopped by an error */

/* enum snapblk_on_full: snapshot policy when its store is full. */
#define SNAPBLK_ON_FULL_INVALIDATE	0	/* snapshot dies, origin lives */
#define SNAPBLK_ON_FULL_BLOCK_WRITES	1	/* origin writes fail instead */

/* Feature bits reported by SNAPBLK_IOC_VERSION. */
#define SNAPBLK_FEAT_OVERLAY	(1ULL << 0)
#define SNAPBLK_FEAT_ORIGIN	(1ULL << 1)
#define SNAPBLK_FEAT_SNAPSHOT	(1ULL << 2)
#define SNAPBLK_FEAT_COMMIT	(1ULL << 3)
#define SNAPBLK_FEAT_REVERT	(1ULL << 4)
#define SNAPBLK_FEAT_GROW	(1ULL << 5)

/**
 * struct snapblk_version - SNAPBLK_IOC_VERSION result.
 * @abi_major: SNAPBLK_ABI_MAJOR of the running module.
 * @abi_minor: SNAPBLK_ABI_MINOR of the running module.
 * @features: SNAPBLK_FEAT_* bits the module implements.
 * @version: the module's version string, NUL terminated.
 * @reserved: zero.
 */
struct snapblk_version {
	__u32 abi_major;
	__u32 abi_minor;
	__u64 features;
	char version[SNAPBLK_VERSION_LEN];
	__u64 reserved[4];
};

/* snapblk_create.flags */
#define SNAPBLK_CREATE_ATTACH	(1U << 0)	/* reuse STORE's data, do not format */
#define SNAPBLK_CREATE_NAMED	(1U << 1)	/* @name is set */
#define SNAPBLK_CREATE_FLAGS	(SNAPBLK_CREATE_ATTACH | SNAPBLK_CREATE_NAMED)

/**
 * struct snapblk_create - SNAPBLK_IOC_CREATE argument.
 * @kind: SNAPBLK_KIND_*.
 * @flags: SNAPBLK_CREATE_* bits.
 * @parent_fd: open block device: the BASE of an overlay, the disk an
 *	origin wraps, or the snapblk ORIGIN device of a snapshot.
 * @store_fd: open block device holding the store; -1 for an origin.
 * @chunk_size: bytes, power of two from SNAPBLK_CHUNK_MIN to
 *	SNAPBLK_CHUNK_MAX; 0 picks SNAPBLK_CHUNK_DEFAULT. Ignored on attach.
 * @on_full: SNAPBLK_ON_FULL_* for a snapshot; 0 otherwise.
 * @name: NUL-terminated device name ([A-Za-z0-9._-], not empty) when
 *	SNAPBLK_CREATE_NAMED is set; otherwise zero.
 * @index: out: N of the new /dev/snapblkN.
 * @__pad: zero.
 * @reserved: zero.
 */
struct snapblk_create {
	__u32 kind;
	__u32 flags;
	__s32 parent_fd;
	__s32 store_fd;
	__u32 chunk_size;
	__u32 on_full;
	char name[SNAPBLK_NAME_LEN];
	__u32 index;
	__u32 __pad;
	__u64 reserved[6];
};

/* snapblk_cmd.flags for SNAPBLK_IOC_REMOVE */
#define SNAPBLK_REMOVE_DISCARD	(1U << 0)	/* delete: discard the store */

/**
 * struct snapblk_cmd - argument of the per-device commands
 *	(SNAPBLK_IOC_REMOVE, _COMMIT, _REVERT, _GROW).
 * @index: N of /dev/snapblkN.
 * @flags: command-specific flags; zero where none are defined.
 * @reserved: zero.
 */
struct snapblk_cmd {
	__u32 index;
	__u32 flags;
	__u64 reserved[3];
};

/* snapblk_info.flags (in) */
#define SNAPBLK_INFO_NEXT	(1U << 0)	/* first device with N >= @index */

/**
 * struct snapblk_info - SNAPBLK_IOC_INFO argument and result.
 * @index: in: N of /dev/snapblkN (or the lower bound with
 *	SNAPBLK_INFO_NEXT); out: N of the device described.
 * @flags: in: SNAPBLK_INFO_* bits.
 * @kind: SNAPBLK_KIND_*.
 * @state: SNAPBLK_STATE_*.
 * @chunk_size: bytes; 0 for an origin.
 * @progress: percent done of the running (or the last) commit or revert;
 *	0 if none ran since the device was made.
 * @on_full: SNAPBLK_ON_FULL_* of a snapshot.
 * @nr_children: devices built directly on this one.
 * @size: device size in bytes.
 * @store_used: bytes of the store in use (metadata and data).
 * @store_size: bytes of the store device.
 * @name: NAME of the device, NUL terminated.
 * @parent: kernel name of the parent block device ("loop0").
 * @store: kernel name of the store block device; empty for an origin.
 * @reserved: zero on input; zero on output.
 */
struct snapblk_info {
	__u32 index;
	__u32 flags;
	__u32 kind;
	__u32 state;
	__u32 chunk_size;
	__u32 progress;
	__u32 on_full;
	__u32 nr_children;
	__u64 size;
	__u64 store_used;
	__u64 store_size;
	char name[SNAPBLK_NAME_LEN];
	char parent[SNAPBLK_DISK_LEN];
	char store[SNAPBLK_DISK_LEN];
	__u64 reserved[4];
};

#define SNAPBLK_IOC_MAGIC	0xb5

#define SNAPBLK_IOC_VERSION	_IOR(SNAPBLK_IOC_MAGIC, 0x00, struct snapblk_version)
#define SNAPBLK_IOC_CREATE	_IOWR(SNAPBLK_IOC_MAGIC, 0x01, struct snapblk_create)
#define SNAPBLK_IOC_REMOVE	_IOW(SNAPBLK_IOC_MAGIC, 0x02, struct snapblk_cmd)
#define SNAPBLK_IOC_INFO	_IOWR(SNAPBLK_IOC_MAGIC, 0x03, struct snapblk_info)
#define SNAPBLK_IOC_COMMIT	_IOW(SNAPBLK_IOC_MAGIC, 0x04, struct snapblk_cmd)
#define SNAPBLK_IOC_REVERT	_IOW(SNAPBLK_IOC_MAGIC, 0x05, struct snapblk_cmd)
#define SNAPBLK_IOC_GROW	_IOW(SNAPBLK_IOC_MAGIC, 0x06, struct snapblk_cmd)

#endif /* _UAPI_LINUX_SNAPBLK_H */
