# Build the SkinDesk Windows installer: PyInstaller bundle, then Inno Setup.
#
#   powershell -ExecutionPolicy Bypass -File installer\windows\build.ps1 [-Variant cpu|gpu]
#
# Needs: Python 3.11+ (the "py" launcher) and Inno Setup 6.3+ (ISCC.exe on PATH or in its default
# folder). Written from the PyInstaller and Inno Setup documentation; it cannot run on the Linux
# build machine, so it has not been executed (installer/README.md says what was verified).
param([ValidateSet("cpu", "gpu")][string]$Variant = "cpu")
$ErrorActionPreference = "Stop"
$Root = Resolve-Path (Join-Path $PSScriptRoot "..\..")
Set-Location $Root
$Start = Get-Date

$Venv = Join-Path $Root ".venv-build-$Variant"
if (-not (Test-Path "$Venv\Scripts\python.exe")) { py -3.11 -m venv $Venv }
$Python = "$Venv\Scripts\python.exe"
& $Python installer\requirements.py $Variant | Set-Content "$Venv\requirements.txt"
& $Python -m pip install -q -r "$Venv\requirements.txt"
if ($LASTEXITCODE -ne 0) { throw "pip install failed" }
$Other = if ($Variant -eq "cpu") { "onnxruntime-gpu" } else { "onnxruntime" }
& $Python -m pip show -q $Other 2>$null
if ($LASTEXITCODE -eq 0) { throw "$Venv has $Other beside the $Variant package; delete $Venv and rerun" }

if (-not (Test-Path "resources\models\skindesk.onnx")) { throw "resources\models\skindesk.onnx (the shipped model) is missing" }
if (-not (Test-Path "resources\icons\skindesk.ico")) { & $Python installer\make_icons.py }

$env:SKINDESK_BUILD_VARIANT = $Variant
& $Python -m PyInstaller --noconfirm --log-level WARN --distpath "dist\$Variant" --workpath "build\pyinstaller-$Variant" installer\skindesk.spec
if ($LASTEXITCODE -ne 0) { throw "PyInstaller failed" }
$Bytes = (Get-ChildItem "dist\$Variant\skindesk" -Recurse -File | Measure-Object -Sum Length).Sum
"bundle size ($Variant, unpacked): {0:N0} MB" -f ($Bytes / 1MB)

$Version = (& $Python -c "import skindesk; print(skindesk.__version__)").Trim()
$Iscc = (Get-Command iscc.exe -ErrorAction SilentlyContinue).Source
if (-not $Iscc) { $Iscc = "${env:ProgramFiles(x86)}\Inno Setup 6\ISCC.exe" }
& $Iscc "/DVariant=$Variant" "/DAppVersion=$Version" installer\windows\skindesk.iss
if ($LASTEXITCODE -ne 0) { throw "ISCC failed" }
Get-ChildItem "dist\SkinDesk-$Version-$Variant-setup.exe" | ForEach-Object { "installer: {0} ({1:N0} MB)" -f $_.FullName, ($_.Length / 1MB) }
"build time: {0:N0} s" -f ((Get-Date) - $Start).TotalSeconds
