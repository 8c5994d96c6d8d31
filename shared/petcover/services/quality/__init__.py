"""Provider quality: ratings and complaints, the monthly assessment, and how it steers dispatch."""
