#!/usr/bin/env bash
# Package a built bundle (installer/build.sh) as a Debian package with dpkg-deb.
#
#   bash installer/build-deb.sh [cpu|gpu]        -> dist/<variant>/skindesk[-gpu]_<version>_<arch>.deb
#
# The package installs the app folder under /opt/skindesk, links /usr/bin/skindesk to it, adds a
# desktop entry (with the image MIME types, so file managers offer "Open with SkinDesk") and the
# icon in the hicolor theme, and depends on the system libraries Qt loads (FACTS.md). Its
# postinst/postrm refresh the desktop database and icon cache when those tools are present.
# Nothing else is touched: removing the package removes every file it installed; per-user settings
# and logs (~/.config/SkinDesk, ~/.local/state/skindesk) stay, as Debian policy expects.
# The cpu and gpu packages conflict (both own /opt/skindesk). Needs dpkg-deb (dpkg >= 1.19).
set -euo pipefail

VARIANT="${1:-cpu}"
case "$VARIANT" in cpu|gpu) ;; *) echo "build-deb.sh: unknown variant '$VARIANT' (cpu or gpu)" >&2; exit 2 ;; esac
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
START=$SECONDS

BUNDLE="$ROOT/dist/$VARIANT/skindesk"
[ -x "$BUNDLE/skindesk" ] || {
  echo "build-deb.sh: no bundle at $BUNDLE; run 'bash installer/build.sh $VARIANT' first" >&2; exit 2; }
command -v dpkg-deb >/dev/null || { echo "build-deb.sh: dpkg-deb not found (apt-get install dpkg)" >&2; exit 2; }

VERSION="$(sed -n 's/^__version__ = "\(.*\)"/\1/p' skindesk/__init__.py)"
ARCH="$(dpkg --print-architecture 2>/dev/null || echo amd64)"
if [ "$VARIANT" = gpu ]; then PACKAGE=skindesk-gpu OTHER=skindesk; else PACKAGE=skindesk OTHER=skindesk-gpu; fi
STAGE="$ROOT/build/deb-$VARIANT/$PACKAGE"
DEB="$ROOT/dist/$VARIANT/${PACKAGE}_${VERSION}_${ARCH}.deb"

say "staging $PACKAGE $VERSION ($ARCH)"
rm -rf "$STAGE"
mkdir -p "$STAGE/DEBIAN" "$STAGE/opt" "$STAGE/usr/bin" "$STAGE/usr/share/applications" \
         "$STAGE/usr/share/doc/$PACKAGE"
cp -a "$BUNDLE" "$STAGE/opt/skindesk"
ln -s /opt/skindesk/skindesk "$STAGE/usr/bin/skindesk"

for size in 16 24 32 48 64 128 256 512; do
  install -D -m 0644 "resources/icons/skindesk-$size.png" \
    "$STAGE/usr/share/icons/hicolor/${size}x${size}/apps/skindesk.png"
done
install -D -m 0644 resources/icons/skindesk.svg "$STAGE/usr/share/icons/hicolor/scalable/apps/skindesk.svg"

cat > "$STAGE/usr/share/applications/skindesk.desktop" <<'EOF'
[Desktop Entry]
Type=Application
Name=SkinDesk
GenericName=Dermoscopy second opinion
Comment=Second opinion on dermoscopic skin-lesion images (decision support, not a diagnosis)
Exec=skindesk %F
TryExec=skindesk
Icon=skindesk
Terminal=false
Categories=Science;MedicalSoftware;Graphics;Viewer;
MimeType=image/jpeg;image/png;image/tiff;image/bmp;image/webp;
Keywords=dermoscopy;dermatology;skin;lesion;melanoma;
EOF

cat > "$STAGE/usr/share/doc/$PACKAGE/copyright" <<'EOF'
SkinDesk: decision support for dermoscopic skin-lesion images (a second opinion, never a diagnosis).

SkinDesk code: MIT licence.
Shipped model (/opt/skindesk/_internal/resources/models): CC BY-NC 4.0, inherited from its
training data; see the model card (skindesk info).
Droid Sans Fallback font (/opt/skindesk/_internal/resources/fonts): Apache License 2.0.
Bundled third-party libraries keep their own licences: Qt 6 and PySide6 (LGPL-3.0), onnxruntime
(MIT), NumPy (BSD-3-Clause), Pillow (MIT-CMU), ONNX (Apache-2.0), Python (PSF-2.0).
On Debian systems the full LGPL-3 text is in /usr/share/common-licenses/LGPL-3.
EOF

# The newest glibc symbol version any bundled binary asks for: the libc6 dependency.
GLIBC="$(find "$STAGE/opt/skindesk" -type f \( -name '*.so*' -o -perm -u+x \) -print0 |
  xargs -0 grep -aoh 'GLIBC_2\.[0-9]*' 2>/dev/null | sort -u -t. -k2,2n | tail -1 | sed 's/GLIBC_//')"
INSTALLED_KB="$(du -sk "$STAGE" | cut -f1)"

# Offscreen and X11 (xcb) Qt need these; the bundle carries Qt itself. Wayland sessions use the
# xcb plugin through XWayland unless the Wayland client libraries (Recommends) are present.
DEPENDS="libc6 (>= ${GLIBC:-2.28}), libstdc++6, libgcc-s1, zlib1g, libegl1, libgl1,
 libxkbcommon0, libfontconfig1, libfreetype6, libdbus-1-3, libglib2.0-0t64 | libglib2.0-0,
 libx11-6, libx11-xcb1, libxcb1, libxcb-cursor0, libxcb-icccm4, libxcb-keysyms1, libxcb-image0,
 libxcb-render-util0, libxcb-randr0, libxcb-shape0, libxcb-xfixes0, libxcb-sync1, libxcb-xkb1,
 libxcb-shm0, libxcb-render0, libxkbcommon-x11-0,
 fonts-dejavu-core | fonts-liberation | fonts-freefont-ttf | fonts-noto-core"
DEPENDS="$(echo "$DEPENDS" | tr -d '\n' | tr -s ' ')"
RECOMMENDS="libwayland-client0, libwayland-cursor0, libwayland-egl1, desktop-file-utils, hicolor-icon-theme"
GPU_NOTE=""
[ "$VARIANT" = gpu ] && GPU_NOTE="
 .
 This is the GPU build: it uses an NVIDIA GPU when the CUDA 13 runtime and cuDNN 9 are installed
 (not declared as dependencies, as they come from NVIDIA's repositories), and otherwise runs on
 the CPU and says why."

cat > "$STAGE/DEBIAN/control" <<EOF
Package: $PACKAGE
Version: $VERSION
Section: science
Priority: optional
Architecture: $ARCH
Maintainer: SkinDesk maintainers <skindesk@example.org>
Installed-Size: $INSTALLED_KB
Depends: $DEPENDS
Recommends: $RECOMMENDS
Conflicts: $OTHER
Replaces: $OTHER
Description: second opinion on dermoscopic skin-lesion images
 SkinDesk classifies dermoscopic images of skin lesions into nine diagnoses and warns when a
 malignancy cannot be excluded. It is decision support, never a diagnosis: a clinician makes
 every diagnostic and treatment decision. It works offline and sends nothing anywhere.
 .
 Run "skindesk" for the desktop app, or "skindesk classify IMAGE..." and "skindesk info" in a
 terminal. Images get "Open with SkinDesk" in the file manager.$GPU_NOTE
EOF

cat > "$STAGE/DEBIAN/postinst" <<'EOF'
#!/bin/sh
# Refresh the menus and the icon cache so SkinDesk and "Open with SkinDesk" appear at once.
set -e
if [ "$1" = configure ]; then
  if command -v update-desktop-database >/dev/null 2>&1; then
    update-desktop-database -q /usr/share/applications || true
  fi
  if command -v gtk-update-icon-cache >/dev/null 2>&1 && [ -f /usr/share/icons/hicolor/index.theme ]; then
    gtk-update-icon-cache -q -t -f /usr/share/icons/hicolor || true
  fi
fi
exit 0
EOF
cat > "$STAGE/DEBIAN/postrm" <<'EOF'
#!/bin/sh
# Drop SkinDesk from the desktop database and icon cache after its files are gone.
set -e
case "$1" in
  remove|purge)
    if command -v update-desktop-database >/dev/null 2>&1; then
      update-desktop-database -q /usr/share/applications || true
    fi
    if command -v gtk-update-icon-cache >/dev/null 2>&1 && [ -f /usr/share/icons/hicolor/index.theme ]; then
      gtk-update-icon-cache -q -t -f /usr/share/icons/hicolor || true
    fi
    ;;
esac
exit 0
EOF

chmod -R u=rwX,go=rX "$STAGE"
chmod 0755 "$STAGE/DEBIAN/postinst" "$STAGE/DEBIAN/postrm"

say "building $(basename "$DEB") (dpkg-deb, xz)"
rm -f "$DEB"
nice -n 10 dpkg-deb --root-owner-group -Zxz --build "$STAGE" "$DEB" >/dev/null
rm -rf "$ROOT/build/deb-$VARIANT"
printf '.deb size: %s MB (%s bytes): %s\n' "$(($(stat -c %s "$DEB") / 1000000))" "$(stat -c %s "$DEB")" "$DEB"
printf '.deb build time: %s s\n' "$((SECONDS - START))"
