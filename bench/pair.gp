# Plot of bench_pair's checkpoints: the pause against the dirty pages it
# carries (each checkpoint seen) and against guest RAM (p50 and p99 per
# pair and clear mode).
# Run by `make bench`: gnuplot -e "csv='...'; png='...'" bench/pair.gp
# It reads csv's siblings *_checkpoints.csv and *_summary.csv.
base = csv[1:strlen(csv)-4]
ck = base . "_checkpoints.csv"
summary = base . "_summary.csv"
sizes = system("awk -F, 'NR > 1 { print $1 }' " . summary . " | sort -nu | tr '\\n' ' '")
# the rows of one workload and mode, in the order of RAM
rows(w, m) = sprintf("< awk -F, '$2 == \"%s\" && $3 == \"%s\"' %s", w, m, summary)

set terminal pngcairo size 1400,1000 noenhanced font ",10"
set output png
set datafile separator ","
set grid
set key top left

set multiplot layout 2,1 title "colo live pair on loopback: checkpoint pause (memstress anchor workload and idle guest, checkpoint_delay_ms 100)"

set title "pause against the dirty pages sent in it, one point per checkpoint (compress_level 0)"
set logscale xy
set xlabel "pages sent with the guest stopped, + 1 (log)"
set ylabel "pause, PAUSE to the guest resumed (ms, log)"
plot for [i = 1:words(sizes)] ck skip 1 \
	using (strcol(3) eq "lazy" && $1 == word(sizes, i) + 0 ? $7 + 1 : 1/0):($6 / 1000) \
	with points pt 7 ps 0.6 lc i title sprintf("%s MiB, lazy", word(sizes, i)), \
     for [i = 1:words(sizes)] ck skip 1 \
	using (strcol(3) eq "monolithic" && $1 == word(sizes, i) + 0 ? $7 + 1 : 1/0):($6 / 1000) \
	with points pt 6 ps 0.6 lc i title sprintf("%s MiB, monolithic", word(sizes, i)), \
     10 with lines lw 2 dt 2 lc rgb "black" title "target p50 10 ms", \
     0.5 with lines lw 2 dt 3 lc rgb "black" title "idle target p50 0.5 ms"

set title "pause against guest RAM: p50 (solid) and p99 (dashed) over all checkpoints of a pair and mode"
set logscale x 2
set logscale y
set xlabel "guest RAM (MiB, log)"
set ylabel "pause (ms, log)"
set key outside right top
set xrange [*:*]
plot rows("anchor", "lazy") using 1:($5 / 1000) with linespoints lw 2 pt 7 lc 1 title "anchor, lazy p50", \
     ''                     using 1:($6 / 1000) with linespoints lw 1 dt 2 pt 7 lc 1 title "anchor, lazy p99", \
     rows("anchor", "monolithic") using 1:($5 / 1000) with linespoints lw 2 pt 6 lc 2 title "anchor, monolithic p50", \
     ''                     using 1:($6 / 1000) with linespoints lw 1 dt 2 pt 6 lc 2 title "anchor, monolithic p99", \
     rows("anchor", "lazy+zlib1") using 1:($5 / 1000) with linespoints lw 2 pt 5 lc 3 title "anchor, lazy+zlib1 p50", \
     rows("idle", "lazy") using 1:($5 / 1000) with linespoints lw 2 pt 9 lc 4 title "idle, lazy p50", \
     ''                     using 1:($6 / 1000) with linespoints lw 1 dt 2 pt 9 lc 4 title "idle, lazy p99", \
     rows("idle", "monolithic") using 1:($5 / 1000) with linespoints lw 2 pt 8 lc 5 title "idle, monolithic p50", \
     10 with lines lw 2 dt 2 lc rgb "black" title "target p50 10 ms", \
     0.5 with lines lw 2 dt 3 lc rgb "black" title "idle target 0.5 ms"
unset multiplot
