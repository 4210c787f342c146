# Sums the input sections the linker kept from the library's objects (a GNU ld -Map file), after
# --gc-sections. Usage: awk -v objdir=DIR/ -f lib_sections.awk fw.map
# Prints "FLASH RAM": FLASH = .text* .rodata* .data* .ARM.exidx* (the .data load image lives in
# flash), RAM = .data* .bss*. Portable awk (mawk): hex sizes are parsed by hand.
function hex(s,    i, v, c) {
  v = 0
  s = tolower(substr(s, 3))
  for (i = 1; i <= length(s); i++) {
    c = index("0123456789abcdef", substr(s, i, 1)) - 1
    if (c < 0) return v
    v = v * 16 + c
  }
  return v
}
/^Linker script and memory map/ { on = 1; next }
!on { next }
/^ \.[^ ]+$/ { pending = $1; next }  # long section name: address and size follow on the next line
{
  name = ""
  if (pending != "" && $1 ~ /^0x/ && NF >= 3) { name = pending; size = $2; file = $3 }
  else if ($1 ~ /^\./ && $2 ~ /^0x/ && $3 ~ /^0x/ && NF >= 4) { name = $1; size = $3; file = $4 }
  pending = ""
  if (name == "" || index(file, objdir) != 1) next
  if (name ~ /^\.(text|rodata|data|ARM\.exidx)/) flash += hex(size)
  if (name ~ /^\.(data|bss)/) ram += hex(size)
}
END { printf "%d %d\n", flash, ram }
