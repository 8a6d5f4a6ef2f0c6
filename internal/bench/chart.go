package bench

import (
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"math"
	"os"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"
)

// WritePNG draws the report: throughputs as bars on a log scale, then
// latencies and sizes as text.
func (r *Report) WritePNG(path string) error {
	var rates, others []Figure
	for _, f := range r.Figures {
		if f.Unit == "/s" {
			rates = append(rates, f)
		} else {
			others = append(others, f)
		}
	}
	const w, row, left, top = 960, 26, 300, 50
	h := top + row*len(rates) + 30 + 18*len(others) + 20
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	draw.Draw(img, img.Bounds(), &image.Uniform{color.RGBA{0xff, 0xfd, 0xf5, 0xff}}, image.Point{}, draw.Src)
	ink := color.RGBA{0x1b, 0x1b, 0x1b, 0xff}
	bar := color.RGBA{0xc9, 0x9a, 0x00, 0xff}
	text := func(x, y int, s string, c color.Color) {
		d := &font.Drawer{Dst: img, Src: image.NewUniform(c), Face: basicfont.Face7x13, Dot: fixed.P(x, y)}
		d.DrawString(s)
	}
	text(10, 20, fmt.Sprintf("mustard bench  %s  %s", r.Time.Format("2006-01-02 15:04 MST"), r.Machine), ink)
	text(10, 38, "throughput per second (log scale)", ink)
	maxLog := 1.0
	for _, f := range rates {
		maxLog = math.Max(maxLog, math.Log10(f.Value+1))
	}
	for i, f := range rates {
		y := top + i*row
		text(10, y+14, f.Name, ink)
		length := int(float64(w-left-120) * math.Log10(f.Value+1) / math.Ceil(maxLog))
		draw.Draw(img, image.Rect(left, y+2, left+max(length, 1), y+row-6), &image.Uniform{bar}, image.Point{}, draw.Src)
		text(left+length+6, y+14, fmt.Sprintf("%.0f/s", f.Value), ink)
	}
	y := top + row*len(rates) + 24
	for _, f := range others {
		text(10, y, fmt.Sprintf("%-32s %10.1f %s   (n=%d)", f.Name, f.Value, f.Unit, f.N), ink)
		y += 18
	}
	out, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := png.Encode(out, img); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
