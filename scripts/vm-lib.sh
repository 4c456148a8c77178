# shellcheck shell=bash
# Throw-away QEMU guests for the kernel tests (kernel-initiator.sh,
# two-node-failover.sh): the distribution kernel booted on a busybox
# initramfs; sourced, not run. Needs daemon-lib.sh's skip_test.
#
#   vm_need COMMAND PACKAGE      skip (77) when COMMAND is not installed
#   vm_find_kernel               sets KERNEL (KERNEL_INITIATOR_KERNEL or the newest
#                                /boot/vmlinuz-* whose iscsi_tcp.ko is installed),
#                                KVER and MODDIR, or skips
#   vm_root ROOT INIT            the initramfs tree: static busybox as /bin/busybox
#                                and /bin/sh, INIT as /init, /etc/mke2fs.conf;
#                                skips when /bin/busybox is not static
#   vm_copy_with_libs ROOT BIN...  each BIN in ROOT/usr/sbin, its shared
#                                libraries under ROOT at their own paths
#   vm_modules ROOT NAMES        the modules NAMES (built-in ones left out) and
#                                their dependencies (modules.dep) in ROOT, in
#                                load order in ROOT/modules.load, plus modules.dep,
#                                .alias and .builtin for busybox modprobe; skips
#                                when one is missing
#   vm_pack ROOT CPIO            the newc cpio archive of ROOT
#   vm_accel_args                sets ACCEL_ARGS from ACCEL (tcg or kvm)

vm_need() { # command package
  command -v "$1" >/dev/null || skip_test "$1 not found (apt-get install $2)"
}

vm_find_kernel() {
  KERNEL=${KERNEL_INITIATOR_KERNEL:-}
  local k v
  if [[ -z $KERNEL ]]; then
    for k in $(printf '%s\n' /boot/vmlinuz-* | sort -rV); do
      v=${k#/boot/vmlinuz-}
      if [[ -r $k && -f /lib/modules/$v/kernel/drivers/scsi/iscsi_tcp.ko ]]; then
        KERNEL=$k
        break
      fi
    done
  fi
  [[ -n $KERNEL && -r $KERNEL ]] ||
    skip_test "no readable /boot/vmlinuz-* with iscsi_tcp.ko in /lib/modules (apt-get install linux-image-amd64)"
  KVER=${KERNEL##*/vmlinuz-}
  MODDIR=/lib/modules/$KVER
  [[ -f $MODDIR/modules.dep ]] || skip_test "$MODDIR/modules.dep missing"
}

vm_root() { # root init
  local root=$1 busybox=/bin/busybox
  if [[ ! -x $busybox ]] || ldd "$busybox" >/dev/null 2>&1; then
    skip_test "no static $busybox (apt-get install busybox-static)"
  fi
  mkdir -p "$root"/{bin,sbin,usr/sbin,dev,proc,sys,etc,tmp,run,var/lock,mnt} || exit 2
  cp "$busybox" "$root/bin/busybox"
  ln -s busybox "$root/bin/sh" # for /init's #!; it installs the other applets
  cp "$2" "$root/init"
  chmod 755 "$root/init"
  [[ -f /etc/mke2fs.conf ]] && cp /etc/mke2fs.conf "$root/etc/"
  return 0
}

vm_copy_with_libs() { # root binary...
  local root=$1 bin
  shift
  local libs
  for bin in "$@"; do
    cp "$bin" "$root/usr/sbin/" # not /bin, where busybox --install puts its applets
    # One cp for all the libraries (fio has about 60): the same paths under root.
    libs=$(ldd "$bin" | grep -oE '/[^ ]+')
    # shellcheck disable=SC2086  # one word per library path
    [[ -z $libs ]] || cp -L --parents $libs "$root/"
  done
}

vm_modules() { # root names
  local root=$1 names=$2 mod deps name path
  declare -A VM_DEPS=() VM_LOADED=()
  while IFS=: read -r mod deps; do
    VM_DEPS[$mod]=$deps
  done <"$MODDIR/modules.dep"
  vm_emit() { # path
    [[ -n ${VM_LOADED[$1]:-} ]] && return 0
    local d
    for d in ${VM_DEPS[$1]}; do vm_emit "$d"; done
    VM_LOADED[$1]=1
    echo "$1" >>"$root/modules.load"
    mkdir -p "$root$MODDIR/$(dirname "$1")"
    cp "$MODDIR/$1" "$root$MODDIR/$1"
  }
  : >"$root/modules.load"
  for name in $names; do
    grep -qE "/$name\.ko\$" "$MODDIR/modules.builtin" && continue
    path=
    for mod in "${!VM_DEPS[@]}"; do
      [[ ${mod##*/} == "$name.ko" ]] && path=$mod && break
    done
    [[ -n $path ]] || skip_test "module $name not in $MODDIR (built-in list neither)"
    vm_emit "$path"
  done
  # busybox modprobe serves the kernel's own request_module calls.
  cp "$MODDIR"/modules.{dep,alias,builtin} "$root$MODDIR/"
}

vm_pack() { # root cpio
  (cd "$1" && find . | cpio -o -H newc --quiet) >"$2"
}

vm_accel_args() {
  # shellcheck disable=SC2034  # for the caller
  ACCEL_ARGS=(-accel tcg)
  # shellcheck disable=SC2034  # for the caller
  [[ $ACCEL == kvm ]] && ACCEL_ARGS=(-accel kvm -cpu host)
  return 0
}
