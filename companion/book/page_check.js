// Runs in each page of the built book (companion.book.pages): every finding as a list of
// strings, empty when the page is fine. LAUNCH_HOSTS is filled in by pages.py; `launches` says
// whether the notebook page must offer launch buttons (a chapter's) or none (an assignment's).
async ({notebook, launches}) => {
  const problems = [];
  // MathJax: wait for its typesetting, then look for TeX left in the text outside code.
  const hasMath = document.querySelector('.math, div.math, span.math') !== null;
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
    await Promise.race([MathJax.startup.promise, new Promise(r => setTimeout(r, 20000))]);
  }
  if (hasMath) {
    if (!window.MathJax || !MathJax.startup) {
      problems.push('math on the page but MathJax did not load');
    }
    if (document.querySelectorAll('mjx-container').length === 0) {
      problems.push('math on the page but no MathJax output');
    }
    const root = document.querySelector('main') || document.body;
    const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
    const skip = 'pre, code, script, style, mjx-container, textarea, .highlight, .cell_output';
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      const text = node.textContent;
      if ((text.includes('\\(') || text.includes('\\[')) && !node.parentElement.closest(skip)) {
        problems.push('raw LaTeX in the text: ' + JSON.stringify(text.trim().slice(0, 80)));
        break;
      }
    }
  }
  // Images: load the lazy ones too, then every one must have a width.
  const images = Array.from(document.images);
  images.forEach(img => { img.loading = 'eager'; });
  await Promise.all(images.map(img => img.decode().catch(() => null)));
  for (const img of images) {
    const src = img.getAttribute('src');
    if (!img.complete || img.naturalWidth === 0) problems.push('image does not load: ' + src);
    // myst-nb's default alt text is the image's file name: that says nothing to a reader either
    const alt = (img.getAttribute('alt') || '').trim();
    if (!alt || alt.split('/').pop() === src.split('/').pop()) {
      problems.push('image without alternative text: ' + src);
    }
  }
  // Code cells and code blocks: no horizontal scrolling.
  for (const pre of document.querySelectorAll('div.highlight pre, .cell_input pre')) {
    if (pre.scrollWidth > pre.clientWidth + 1) {
      const line = pre.textContent.split('\n').reduce((a, b) => (b.length > a.length ? b : a), '');
      problems.push(`code wider than its column (${pre.scrollWidth} > ${pre.clientWidth} px): ` +
                    JSON.stringify(line.slice(0, 100)));
    }
  }
  if (notebook) {
    if (document.querySelector('.tag_injected-parameters')) {
      problems.push("papermill's injected parameters cell is shown");
    }
    const launch = Array.from(document.querySelectorAll('a[href]')).map(a => a.href)
      .filter(h => LAUNCH_HOSTS.some(host => h.includes(host)));
    if (launches && launch.length === 0) problems.push('no launch buttons');
    if (!launches && launch.length > 0) problems.push('an assignment offers a launch button: ' + launch[0]);
    for (const href of launch) {
      if (!href.replace(/\/\.\//g, '/').endsWith('/' + notebook)) {
        problems.push('launch button opens another notebook: ' + href);
      }
    }
  }
  return problems;
}
