# Plot of bench_dirty_log's summary: dirty-log cost per round by mode.
# Run by `make bench`: gnuplot -e "csv='...'; png='...'" bench/dirty_log.gp
# The summary file sits next to csv, named *_summary.csv.
summary = csv[1:strlen(csv)-4] . "_summary.csv"

set terminal pngcairo size 1400,900 noenhanced font ",10"
set output png
set datafile separator ","
set key top left
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set xtics rotate by -35
set grid ytics

set multiplot layout 2,1 title "colo dirty log: lazy chunked clear vs monolithic get-and-clear (medians per round)"

set ylabel "sync + clear per round (ms, log scale)"
set logscale y
plot summary skip 1 using 2:xtic(1) title "monolithic" lc rgb "#888888", \
     ''      skip 1 using 4 title "lazy shift 6" lc rgb "#1b9e77", \
     ''      skip 1 using 6 title "lazy shift 12" lc rgb "#d95f02", \
     ''      skip 1 using 8 title "lazy shift 18" lc rgb "#7570b3"

unset logscale y
set ylabel "ratio lazy / monolithic"
set yrange [0:*]
plot summary skip 1 using 5:xtic(1) title "lazy shift 6" lc rgb "#1b9e77", \
     ''      skip 1 using 7 title "lazy shift 12" lc rgb "#d95f02", \
     ''      skip 1 using 9 title "lazy shift 18" lc rgb "#7570b3", \
     1 with lines lw 2 lc rgb "black" title "monolithic"
unset multiplot
