"""Charts drawn by alertd itself: a chart is a list of marks (pure, `scene`), written as inline SVG
for pages (`svg`) or as a PNG for e-mail (`png`), so the two never differ in what they show."""
